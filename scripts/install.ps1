# agproxy installer (Windows, PowerShell 5.1 or later): downloads agproxy-windows-x64.exe and SHA256SUMS, verifies the
# checksum, checks that it runs, and installs it as <Prefix>\agproxy.exe (default %LOCALAPPDATA%\Programs\agproxy),
# adding that folder to your user PATH.
#
#   irm https://github.com/agproxy/agproxy/releases/latest/download/install.ps1 | iex
#   & ([scriptblock]::Create((irm …/install.ps1))) -Prefix C:\Tools\agproxy
#
# Settings (environment): AGPROXY_DOWNLOAD_BASE (where the files are; default the latest GitHub release),
# AGPROXY_VERSION (a release instead of the latest, e.g. 0.2.0), AGPROXY_PREFIX (same as -Prefix).
# A checksum mismatch, a failed download or a binary that does not run installs nothing (an installed agproxy stays).
param([string]$Prefix = $(if ($env:AGPROXY_PREFIX) { $env:AGPROXY_PREFIX } else { Join-Path $env:LOCALAPPDATA 'Programs\agproxy' }))

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue' # Invoke-WebRequest is much slower with its progress bar
$Repo = 'agproxy/agproxy'

# throw, not exit: under `irm … | iex` exit would close the user's PowerShell window
function Fail([string]$Message) { throw "agproxy install: $Message" }

if ($env:AGPROXY_DOWNLOAD_BASE) { $Base = $env:AGPROXY_DOWNLOAD_BASE.TrimEnd('/') }
elseif ($env:AGPROXY_VERSION) { $Base = "https://github.com/$Repo/releases/download/v$($env:AGPROXY_VERSION.TrimStart('v'))" }
else { $Base = "https://github.com/$Repo/releases/latest/download" }

# x64 binaries also run on Windows on ARM (emulated)
$Arch = $env:PROCESSOR_ARCHITECTURE
if ($Arch -ne 'AMD64' -and $Arch -ne 'ARM64') { Fail "no agproxy release for Windows on $Arch (there is x64); build it from source (npm run build)" }
$File = 'agproxy-windows-x64.exe'

$Staged = $null
$Tmp = Join-Path ([IO.Path]::GetTempPath()) ("agproxy-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $Tmp | Out-Null
try {
  [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
  Write-Host "Downloading $File from $Base"
  try { Invoke-WebRequest -UseBasicParsing -Uri "$Base/SHA256SUMS" -OutFile (Join-Path $Tmp 'SHA256SUMS') } catch { Fail "could not download $Base/SHA256SUMS" }
  try { Invoke-WebRequest -UseBasicParsing -Uri "$Base/$File" -OutFile (Join-Path $Tmp $File) } catch { Fail "could not download $Base/$File" }

  $Line = Get-Content (Join-Path $Tmp 'SHA256SUMS') | Where-Object { $_ -match "^([0-9a-fA-F]{64}) [ *]$([regex]::Escape($File))$" } | Select-Object -First 1
  if (-not $Line) { Fail "SHA256SUMS at $Base does not list $File; nothing was installed" }
  $Want = $Line.Substring(0, 64).ToLower()
  $Got = (Get-FileHash -Algorithm SHA256 (Join-Path $Tmp $File)).Hash.ToLower()
  if ($Got -ne $Want) { Fail "checksum mismatch for ${File}: SHA256SUMS says $Want, the download is $Got. The file is damaged or was tampered with; nothing was installed." }

  # (a native command's stderr is an error record under ErrorActionPreference Stop: caught as "does not run" too)
  try { $Version = & (Join-Path $Tmp $File) --version 2>&1; $Ran = $LASTEXITCODE -eq 0 } catch { $Version = $_; $Ran = $false }
  if (-not $Ran) { Fail "the downloaded $File does not run on this machine: $Version; nothing was installed" }

  New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
  $Target = Join-Path $Prefix 'agproxy.exe'
  # copy next to the target, then move over it: an interrupted install never leaves a partial agproxy.exe
  $Staged = Join-Path $Prefix ".agproxy.$PID.tmp"
  Copy-Item (Join-Path $Tmp $File) $Staged -Force
  try { Move-Item $Staged $Target -Force } catch { Fail "cannot replace $Target (is agproxy running from it? stop it, then run this again)" }
  $Staged = $null

  Write-Host "Installed $Version as $Target"
  $UserPath = [Environment]::GetEnvironmentVariable('Path', 'User')
  if (-not (($UserPath -split ';') -contains $Prefix)) {
    [Environment]::SetEnvironmentVariable('Path', ((@($UserPath, $Prefix) | Where-Object { $_ }) -join ';'), 'User')
    $env:Path = "$env:Path;$Prefix"
    Write-Host "Added $Prefix to your user PATH (new terminals see it)."
  }
  Write-Host ''
  Write-Host 'Next:'
  Write-Host '  agproxy                      start the gateway on http://127.0.0.1:8045 (API reference at /swagger)'
  Write-Host '  agproxy clients              the base URL and key each client should use'
  Write-Host '  agproxy service install      how to keep it running in the background from logon'
}
finally {
  Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
  if ($Staged -and (Test-Path $Staged)) { Remove-Item -Force $Staged -ErrorAction SilentlyContinue }
}
