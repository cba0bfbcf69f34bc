app:
  overrides:
    config: /srv/app/app.conf
