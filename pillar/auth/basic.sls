# HTTP basic-auth users of the apiserver (password,user,uid in
# basic_auth.csv). Only the master gets this pillar. Example values.
basic_auth:
  users:
    - name: admin
      password: change-me-admin
      uid: admin
    - name: ops
      password: change-me-ops
      uid: "1001"
