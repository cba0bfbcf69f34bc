app:
  users:
    - alice
  port: 80
