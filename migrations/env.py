"""The one Alembic environment of crm-expo (run through `crm-expo db …`, which passes the
Flask app in ``config.attributes["app"]``)."""
from alembic import context

from crm_expo.extensions import db
from crm_expo.migrations import table_owner
from crm_expo.plugins import available

config = context.config
app = config.attributes["app"]
only = config.attributes.get("only_tables_of")
plugin_names = list(available())


def include_object(obj, name, type_, reflected, compare_to):
    if only is None:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = table.name if table is not None else name
    return table_owner(table_name, plugin_names) == only


def run_migrations_online():
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=db.metadata,
                              include_object=include_object, render_as_batch=True,
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()


run_migrations_online()
