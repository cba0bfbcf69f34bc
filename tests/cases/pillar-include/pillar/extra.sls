value: 42
