# Pillar top file: cluster-wide settings for everyone, credentials by role.
base:
  '*':
    - cluster-params
    - versions
    - auth.tokens

  'roles:kubernetes-master':
    - match: grain
    - auth.basic
