svc:
  lookup:
    image: custom:1.0
