greeting: hello {{ grains['id'] }}
