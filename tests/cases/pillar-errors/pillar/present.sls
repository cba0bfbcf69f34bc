present: yes
