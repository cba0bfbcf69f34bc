pkgs:
  pkg.installed:
    - pkgs: {{ pillar.pkgs|json }}
    - refresh: {{ pillar.flag }}
