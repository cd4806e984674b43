"""The import upload page every plugin's importer shares: upload → dry run shown as a preview
→ confirm → the real import of the same stored file, on top of ``crm_expo.contacts.importing.run_import``.
A plugin's view passes its kind, columns, row handler, form and template."""
from __future__ import annotations

import os
import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import ValidationError, validate_csrf

from .contacts.importing import ImportFileError, run_import


def _folder() -> str:
    path = os.path.join(current_app.instance_path, "uploads", "imports")
    os.makedirs(path, exist_ok=True)
    return path


def import_upload_page(show, kind: str, columns, apply_rows, *, form, endpoint: str, title: str,
                       columns_help: str, template: str = "import_page.html", **context):
    """Serve GET/POST of an import page. ``form`` has a ``file`` FileField; ``endpoint`` is
    the page itself (with ``slug``); ``title`` and ``columns_help`` (the columns expected)
    are shown on the page. ``template`` receives ``show, form, report, token, filename``
    and ``context``."""
    context.update(title=title, columns_help=columns_help)
    token = request.form.get("token", "")
    if token:   # confirmation of a previewed file: import the stored copy for real
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400)
        if not token.isalnum():
            abort(400)
        path = os.path.join(_folder(), token)
        if not os.path.exists(path):
            flash(_("The uploaded file has expired; upload it again."), "error")
            return redirect(url_for(endpoint, slug=show.slug))
        report = None
        try:
            report = run_import(show, path, request.form.get("filename", "import.csv"), kind, columns, apply_rows)
        except ImportFileError as exc:
            flash(str(exc), "error")
        finally:
            os.remove(path)
        if report is not None:
            flash(report.summary(), "success" if not report.rejected else "error")
        return render_template(template, show=show, form=form.__class__(formdata=None), report=report, token="",
                               filename="", **context)
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        filename = os.path.basename(upload.filename or "import.csv")
        token = secrets.token_hex(16)
        # An extension-less copy under a random name, kept only until the user confirms.
        with open(os.path.join(_folder(), token), "wb") as fh:
            fh.write(data)
        report = None
        try:
            report = run_import(show, data, filename, kind, columns, apply_rows, dry_run=True)
        except ImportFileError as exc:
            os.remove(os.path.join(_folder(), token))
            flash(str(exc), "error")
            token = ""
        return render_template(template, show=show, form=form, report=report, token=token, filename=filename,
                               **context)
    return render_template(template, show=show, form=form, report=None, token="", filename="", **context)
