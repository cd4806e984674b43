from flask import Blueprint

from crm_expo.plugins import Plugin

plugin = Plugin(name="misnamed", title="Misnamed", blueprint=Blueprint("other_name", __name__))
