zeta: 1
alpha:
  nested: [1, two, {three: 3}]
  flag: false
text: "quoted: value"
