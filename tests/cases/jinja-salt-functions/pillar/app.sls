app:
  name: shop
  db:
    host: db.internal
    port: 5432
