key: {{ undefined_in_pillar.attr }}
