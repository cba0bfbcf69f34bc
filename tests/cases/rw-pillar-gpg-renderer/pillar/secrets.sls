#!yaml|gpg
db:
  user: app
  password: not-encrypted-in-this-test
  ports: [5432, 5433]
