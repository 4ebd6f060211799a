# Builds the akvvm extension packages (handler zips) into dist/.
#   make package            all four platforms
#   make package VERSION=3.0.1
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
PLATFORMS := linux/amd64 linux/arm64 windows/amd64 windows/arm64
LDFLAGS := -s -w -X github.com/akvvm/akvvm/internal/buildinfo.Version=$(VERSION) -X github.com/akvvm/akvvm/internal/buildinfo.Commit=$(COMMIT)

.PHONY: package clean

package:
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" -o dist/$${os}_$${arch}/akvvm$$ext ./cmd/akvvm; \
		go run ./packaging/mkzip -goos $$os -binary dist/$${os}_$${arch}/akvvm$$ext -out dist/akvvm-$$os-$$arch.zip; \
	done
	go run ./packaging/mkzip -check $(foreach p,$(PLATFORMS),dist/akvvm-$(subst /,-,$(p)).zip)

clean:
	rm -rf dist
