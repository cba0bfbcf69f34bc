app:
  color: red
motd: web and db on m1
