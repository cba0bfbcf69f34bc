//! The Jinja environment, configured like Salt's SLS environment
//! (`salt/utils/templates.py`, `salt/utils/jinja.py`).
