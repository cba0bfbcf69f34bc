a: {{ nope }}
