{% set root = grains['scratch'] %}
{% set kube = pillar['kube'] %}
manifest_dir:
  file.directory:
    - name: {{ root }}/etc/kubernetes/manifests
    - makedirs: True
    - mode: '0755'
kubeconfig:
  file.managed:
    - name: {{ root }}/etc/kubernetes/admin.conf
    - contents_pillar: kube:kubeconfig
    - mode: '0600'
    - require:
      - file: manifest_dir
{% for app in kube['apps'] %}
manifest_{{ app }}:
  file.managed:
    - name: {{ root }}/etc/kubernetes/manifests/{{ app }}.yaml
    - source: salt://kube/files/deployment.yaml.j2
    - template: jinja
    - context:
        app: {{ app }}
        replicas: {{ kube.get('replicas', 2) }}
        image: {{ kube['registry'] }}/{{ app }}:{{ kube['tag'] }}
    - require:
      - file: manifest_dir
{% endfor %}
kubectl_apply:
  cmd.wait:
    - name: ls {{ root }}/etc/kubernetes/manifests >> {{ root }}/applied.log
    - watch:
{% for app in kube['apps'] %}
      - file: manifest_{{ app }}
{% endfor %}
