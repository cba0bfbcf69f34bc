#!jinja|yaml|gpg
api_key: plain-{{ grains['id'] }}
