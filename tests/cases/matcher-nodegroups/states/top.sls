base:
  'N@webservers':
    - ng_web
  'dbservers':
    - match: nodegroup
    - ng_db
  'N@monitored':
    - ng_nested
  'N@listgroup':
    - ng_list
