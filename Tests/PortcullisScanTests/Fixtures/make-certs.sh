#!/bin/sh
# Makes the test certificates service detection is checked against, in DIR:
#   selfsigned.{pem,key}  EC P-256, CN=localhost, valid for ten years from today
#   expired.{pem,key}     self-signed, valid 2020-01-01 .. 2021-01-01 (UTCTime)
#   ca.{pem,key}          a test CA
#   leaf.{pem,key}        signed by ca.pem, valid until 2051 (GeneralizedTime)
# Used by the end-to-end tests (fresh keys each run; no private key is
# committed) and to re-make the committed *.pem fixtures. Needs openssl.
set -eu
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
subject="/C=US/ST=Test State/L=Test City/O=Portcullis Test/OU=Service Detection/CN=localhost"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout selfsigned.key -out selfsigned.pem \
    -days 3650 -subj "$subject" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

# openssl ca takes explicit start and end dates; x509/req (3.0) only take -days.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ self_ext ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = CA:false
[ leaf_ext ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
basicConstraints = CA:false
subjectAltName = DNS:leaf.test
CNF

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr \
    -subj "/C=US/O=Portcullis Test/CN=expired.test" 2>/dev/null
openssl ca -batch -config ca.cnf -selfsign -keyfile expired.key -in expired.csr -out expired.pem -notext \
    -startdate 20200101000000Z -enddate 20210101000000Z -extensions self_ext 2>/dev/null

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3650 \
    -subj "/C=US/O=Portcullis Test/CN=Portcullis Test CA" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
    -subj "/C=US/O=Portcullis Test, Inc./CN=leaf.test" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in leaf.csr -out leaf.pem -notext \
    -startdate 20240101000000Z -enddate 20510101000000Z -extensions leaf_ext 2>/dev/null
rm -rf ca-db ca.cnf ./*.csr
