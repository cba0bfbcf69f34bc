app:
  color: blue
motd: db only on m3
