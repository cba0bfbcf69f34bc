site: example.org
web:
  port: 8080
