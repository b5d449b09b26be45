"""Object detector plugins, one module each (see ../api.py); every module here is one."""
