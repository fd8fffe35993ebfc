"""The modelling API (``models.system``, ``models.types``) and the protocol models."""
