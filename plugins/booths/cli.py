"""`crm-expo booths …` commands."""
import click
from flask_babel import gettext as _

from crm_expo.extensions import db


@click.group("booths", help="Booths: holds, rebooking.")
def cli():
    pass


@cli.command("expire-holds", help="Release every hold past its time (all shows, or one).")
@click.option("--show", "slug", default=None)
def expire_holds_cmd(slug):
    from sqlalchemy import select

    from crm_expo.models import Show

    from .operations import expire_holds
    show = None
    if slug:
        show = db.session.scalar(select(Show).where(Show.slug == slug))
        if show is None:
            raise click.ClickException(f"no show with the code {slug}")
    n = expire_holds(show)
    click.echo(_("%(n)d holds expired", n=n))


@cli.command("offer-previous", help="Rebooking window: offer returning exhibitors their previous booth.")
@click.option("--show", "slug", required=True)
def offer_previous_cmd(slug):
    from sqlalchemy import select

    from crm_expo.models import Show

    from .operations import offer_previous_booths
    show = db.session.scalar(select(Show).where(Show.slug == slug))
    if show is None:
        raise click.ClickException(f"no show with the code {slug}")
    made = offer_previous_booths(show)
    click.echo(_("%(n)d previous booths offered", n=len(made)))
