"""Label Studio as the labeling tool of the loop: `asal label-studio push` puts the images a
waiting run of 03 asks for into a Label Studio project, `asal label-studio pull` writes the
labels given there to labels.csv (docs/label-studio.md).

Label Studio runs as a server of its own, in an environment of its own; asal talks to it
over its REST API only (client.py), so asal does not depend on the server's packages.
"""
