local_key: local
