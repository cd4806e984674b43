from crm_expo.plugins import Plugin

chicken = Plugin(name="chicken", title="Chicken", requires=("egg",))
egg = Plugin(name="egg", title="Egg", requires=("chicken",))
