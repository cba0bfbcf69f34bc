#!jinja|json
{"{{ grains.id }}": {"test.nop": [{"n": {{ pillar.port }}}]}}
