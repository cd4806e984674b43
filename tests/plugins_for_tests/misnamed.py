from flask import Blueprint

from crm_expo.plugins import Plugin

plugin = Plugin(name="misnamed", title="Misnamed", blueprint=Blueprint("other_name", __name__))

# its pages about one show are well named, its pages outside /shows are not
site_misnamed = Plugin(name="misnamed", title="Misnamed", blueprint=Blueprint("misnamed", __name__),
                       site_blueprint=Blueprint("misnamed_portal", __name__))
