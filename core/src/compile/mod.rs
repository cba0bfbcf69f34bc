//! Top files, pillar, SLS -> highstate -> lowstate, as `salt/state.py` does.
