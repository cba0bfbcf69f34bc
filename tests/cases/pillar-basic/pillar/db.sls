postgres:
  version: 15
