ntp_servers:
  - 0.pool.ntp.org
  - 1.pool.ntp.org
timezone: UTC
mode: 0755
enabled: yes
