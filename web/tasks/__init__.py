"""The task screen: ``views`` (the blueprint and its routes), ``access`` (who may see and work a task, and the
web's task operations on the engine facade), ``page`` (instructions, context, the case so far, the form) and
``display`` (badges, ages, answers as people read them)."""
