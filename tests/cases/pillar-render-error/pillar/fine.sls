fine: 1
