role: db
cluster:
  name: alpha
  members: [db01, db02]
