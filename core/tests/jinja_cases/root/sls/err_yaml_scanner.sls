a:
	b: 1
