app:
  settings:
    d: {deep: true}
  only_first: null
