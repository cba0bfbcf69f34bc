matches:
  test.nop:
    - grain: {{ salt['match.grain']('tier:prod') }}
    - grain_list: {{ salt['match.grain']('roles:db') }}
    - grain_no: {{ salt['match.grain']('tier:dev') }}
    - glob: {{ salt['match.glob']('web*') }}
    - glob_no: {{ salt['match.glob']('db*') }}
    - compound: {{ salt['match.compound']('G@tier:prod and web*') }}
    - compound_not: {{ salt['match.compound']('web* and not G@roles:db') }}
    - pillar: {{ salt['match.pillar']('nested:tier:prod') }}
    - list: {{ salt['match.list']('a,web01.example.com') }}
    - pcre: {{ salt['match.pcre']('web\d+\..*') }}
    - grain_pcre: {{ salt['match.grain_pcre']('tier:pr.*') }}
{% if salt['match.compound']('G@roles:web') %}
web_only:
  test.nop
{% endif %}
