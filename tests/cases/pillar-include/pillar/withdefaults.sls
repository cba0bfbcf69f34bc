message: {{ greeting }} world
