role: web
nested:
  tier: prod
