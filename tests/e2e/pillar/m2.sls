app:
  color: green
motd: web only on m2
