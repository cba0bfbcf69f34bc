app:
  version: 1.0.0
  name: app
