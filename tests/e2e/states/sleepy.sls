{# Not in top.sls: the e2e test applies it on its own to have a job that runs
   for a few seconds, while it kills a minion or restarts the master. #}
slow:
  cmd.run:
    - name: sleep 5; echo done > {{ grains['scratch'] }}/sleepy.done
