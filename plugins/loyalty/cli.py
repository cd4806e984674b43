"""`crm-expo loyalty …`."""
from __future__ import annotations

import sys

import click


@click.group("loyalty", help="Loyalty: segments and lifecycle stages.")
def cli():
    pass


@cli.command("recompute", help="Compute every customer's segments for a show.")
@click.option("--show", "slug", required=True)
def recompute_cmd(slug):
    from crm_expo.cli import _show

    from . import operations as ops
    show = _show(slug)
    try:
        result = ops.recompute(show)
    except ops.LoyaltyError as exc:
        click.echo(f"crm-expo: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{show.slug}: {result['customers']} customers, {result['changed']} changed segment")
