users:
  alice: {uid: 1000}
shared:
  from_users: 2
