nginx:
  worker_processes: {{ grains['cpus'] }}
  vhosts:
    - name: shop
      port: 443
minion_id: {{ grains['id'] }}
