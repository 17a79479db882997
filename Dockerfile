# The course in a container: Debian 12 (Python 3.11), the Fashion-MNIST package,
# then the README's first command. Build and run:
#   docker build -t debugging-nn . && docker run -p 8888:8888 debugging-nn
# and open the address it prints. Your notebooks live in /course/student-work;
# mount a folder there (-v "$PWD/work:/course/student-work") to keep them.
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        make python3 python3-venv dataset-fashion-mnist ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /course
COPY . .
# Set up once at build time (the venv, the course, the data check).
RUN make setup data

EXPOSE 8888
# JupyterLab must listen beyond the container's loopback; the port is fixed so
# that -p 8888:8888 reaches it.
CMD ["make", "lab", "PORT=8888", "LAB_ARGS=--no-browser --ServerApp.ip=0.0.0.0"]
